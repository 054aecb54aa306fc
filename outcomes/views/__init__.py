"""What each notebook, the report and the widgets show: one module per notebook (layer 6).

A view takes the :class:`~outcomes.analysis.Analysis` the notebook built once in its first cell
(or the dict ``measure → Analysis``, or one of their results) and returns what a cell shows: a
table for reading, a sentence (:class:`~outcomes.present.display.Text`) or a figure (end the cell
with ``;``). Nothing here is estimated or derived from the records again.

=================  =========================================================================
``check``          notebook 01: rows read and set aside, the patients, who reached the landmark
``attendance``     notebook 02: attendance metrics, adherence to a protocol
``outcomes``       notebook 03: the association of frequency with improvement, dose–response,
                   measures, regions, raters, who benefits, zones
``schedules``      notebook 04: the schedules compared, with the checks a statistician asks for
``robustness``     notebook 05: the traps and the other analysis choices, in words
``summary``        notebook 06 and the report: small blocks, the schedules first
``widgets``        the notebooks' controls (a bounded cache of analyses keyed by Settings)
``report``         notebook 06 executed on a records folder and written as one HTML file
=================  =========================================================================

The modules are imported one by one (``from outcomes.views import summary``), so that the command
line's ``outcomes report`` does not import the notebooks' plotting.
"""
