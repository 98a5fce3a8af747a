"""Helpers shared by several test folders: event factories and bodies, hostile corpora,
throwaway databases, the HospitalResident oracle."""
