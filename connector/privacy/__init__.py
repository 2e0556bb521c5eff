"""Privacy erasure: the plan (pure, `plan`) and its run against both systems and the
store (`erase`)."""
