"""Data files shipped with the platform (see each folder's README for provenance)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
TIPDM_DIR = DATA_DIR / "tipdm2020"
