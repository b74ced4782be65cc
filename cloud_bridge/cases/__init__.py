"""The street office's closed loop as a pure case model: rules as data and plain functions.

No database, web framework, event loop or I/O (an import-linter contract and a test enforce it):
the bridge's shell loads a case, calls these functions with the authenticated actor and the
time, and stores what they return.

- :mod:`.lifecycle`: ticket states and events, ONE transition table;
- :mod:`.roles`: the authenticated :class:`~.roles.Actor` and the role table;
- :mod:`.commands`: one command per event, carrying its resolved content;
- :mod:`.case_file`: :func:`~.case_file.apply` and :func:`~.case_file.replay`, the case file;
- :mod:`.command_codec`: commands and recorded steps to and from plain data (JSON, the store);
- :mod:`.findings`: what a visit found, validated;
- :mod:`.deadlines`: visit, rectification and re-visit deadlines, overdue, escalation;
- :mod:`.relapse`: the relapse watch (a linked new ticket, not a reopened one);
- :mod:`.tiers`: the 100-point index, the scoring table, unit and building tiers;
- :mod:`.schedule` and :mod:`.schedule_export`: a team's week, as rows, CSV and iCalendar;
- :mod:`.precision`: measured precision from the verdicts;
- :mod:`.policy`: every number above, in one frozen :class:`~.policy.CasePolicy`.
"""
