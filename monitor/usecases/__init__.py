"""Use cases: each rule of registration, recording and check settings, once, called by every interface."""
