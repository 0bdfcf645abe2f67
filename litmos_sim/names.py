"""Word pools for generated names and texts (unicode, XML-special characters on purpose)."""
from __future__ import annotations

import base64
import random

FIRST_NAMES = (
    "Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Giulia", "Hiro", "Inès", "Jürgen", "Kai", "Łukasz",
    "María José", "Nguyễn", "Olivia", "Pál", "Quinn", "Renée", "Søren", "Tomás", "Uma", "Vikram", "Wei",
    "Xochitl", "Yusuf", "Zoë", "李", "Анна", "D'Arcy", "Siobhán", "Ömer", "Åsa",
)
LAST_NAMES = (
    "Smith", "García", "Müller", "O'Brien", "Nakamura", "Kowalski", "Dubois", "Rossi", "Andersson", "Novák",
    "Schröder", "Papadopoulos", "Ivanov", "Silva", "Nguyen", "Patel", "Kim", "Østergaard", "Fernández",
    "Brown & Sons", "Le Blanc", "van der Berg", "王", "Çelik", "Jones", "Yılmaz", "Đorđević", "Smith-Jones",
)
JOB_TITLES = ("Engineer", "Sales Rep", "Nurse", "Store Manager", "Analyst", "R&D Lead", "Technician",
              "Driver", "Consultant", "Team Lead", "Chef de Cuisine", "HR Partner")
CITIES = ("Zürich", "São Paulo", "London", "Austin", "Kraków", "Sydney", "Montréal", "Tokyo", "Dublin", "Pune")
COUNTRIES = ("Switzerland", "Brazil", "United Kingdom", "United States", "Poland", "Australia", "Canada",
             "Japan", "Ireland", "India")
TIME_ZONES = ("UTC", "Pacific Standard Time", "Eastern Standard Time", "GMT Standard Time",
              "W. Europe Standard Time", "AUS Eastern Standard Time", "India Standard Time")
CULTURES = ("en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP")
BRANDS = ("Default", "Acme Retail", "Acme Health & Care")
DEPARTMENTS = ("Operations", "Finance", "R&D", "Sales <EMEA>", "Support")
COURSE_TOPICS = (
    "Health & Safety", "Fire Safety", "Data Protection <GDPR>", "Anti-Bribery", "Code of Conduct",
    "Customer Service", "Forklift Operation", "Food Hygiene", "Information Security", "Diversity & Inclusion",
    "First Aid", "Manual Handling", "Product Basics", "Negotiation", "Leadership 101", "Sécurité au travail",
    "Arbeitsschutz", "Time Management", "Cyber Awareness", "Onboarding",
)
MODULE_KINDS = ("Video", "Document", "Assessment", "Survey", "Scorm", "TinCan")
TEAM_WORDS = ("North", "South", "East", "West", "Central", "Retail", "Clinical", "Field", "HQ", "Ops", "R&D",
              "Zürich", "São Paulo", "Logistics")


class IdMaker:
    """Unique opaque 12-character ids like the API's encrypted ids (e.g. `F6oAfh3hxl81`)."""

    def __init__(self, rng: random.Random):
        self._rng = rng
        self._seen: set[str] = set()

    def new(self) -> str:
        """A fresh id never returned before by this maker."""
        while True:
            # 9 random bytes -> 12 base64 characters; the two non-alphanumeric ones mapped to letters.
            value = base64.b64encode(self._rng.randbytes(9), altchars=b"xZ").decode("ascii")
            if value not in self._seen:
                self._seen.add(value)
                return value
