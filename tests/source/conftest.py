"""Fixtures of the source tests: make the scripted fake API importable."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
