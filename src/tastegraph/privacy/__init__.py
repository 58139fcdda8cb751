"""Privacy: retention sweeps, export and erasure over every registered personal-data store."""

from tastegraph.privacy.registry import PersonalDataStore, PrivacyRegistry

__all__ = ["PersonalDataStore", "PrivacyRegistry"]
