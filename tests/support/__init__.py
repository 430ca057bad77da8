"""Test helpers: an in-memory interaction log, a Converse emulator, tiny reports."""
