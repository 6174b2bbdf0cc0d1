"""Mutation catalogues: plausible wrong answers (each must lose points) and correct answers written
differently (each must keep full marks), graded through the real autograder by tests/test_mutations.py."""
