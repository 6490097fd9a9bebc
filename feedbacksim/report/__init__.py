"""Design-review reports: figures, Markdown and a self-contained HTML page for a results directory.

matplotlib is imported only when a report is built, so commands that do not draw (such as
``feedbacksim validate``) stay fast.
"""

from feedbacksim.report.build import write_report

__all__ = ["write_report"]
