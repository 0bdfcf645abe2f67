"""Fixtures of the source tests live in ../conftest.py; helpers are modules of this package
(``fake_api``: a scripted Litmos stand-in, ``truth``: warehouse-vs-simulator comparison)."""
