"""Public data sets shipped with feedbacksim, each with its provenance beside the files.

* ``fico/``: the FICO TransRisk tables of the Federal Reserve's 2007 Report to the Congress
  on Credit Scoring (score distribution and repayment rate per score, by race or
  ethnicity), read by :func:`feedbacksim.data.fico_tables.load_fico`.
* ``german_credit.csv``: the UCI Statlog German credit data (1,000 applicants, CC BY 4.0;
  provenance in ``README.md``), a table for the ``tabular`` world
  (``data: feedbacksim:german_credit.csv``).
"""
