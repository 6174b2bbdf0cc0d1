"""Hostile and broken submissions, each with the outcome `seqlab grade` must give it
(tests/test_hostile.py grades them all in one run, next to honest students)."""
