"""Public data sets shipped with feedbacksim, each with its provenance beside the files.

* ``fico/``: the FICO TransRisk tables of the Federal Reserve's 2007 Report to the Congress
  on Credit Scoring (score distribution and repayment rate per score, by race or
  ethnicity), read by :func:`feedbacksim.data.fico_tables.load_fico`.
"""
