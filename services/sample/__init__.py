"""The sample program year: the generator, the SME vacancies, and the reference data."""
