"""Demonstration data: a fictional first batch, made through the app's own services."""

from pilot.demo.build import load_demo, org_code
from pilot.demo.data import DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD", "load_demo", "org_code"]
