"""Helpers and constants shared by test modules (fixtures live in conftest.py files): test modules
import these, never each other, so a module's tests do not depend on another module's import."""
