"""Benchmarks of cacao-screen against exactextract and rasterstats (see docs/benchmarks.md).

Not part of the installed package and not run by the test suite: ``make bench-small`` /
``make bench`` run them and append the measured table to ``bench/RESULTS.md``.
"""
