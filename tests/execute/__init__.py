"""Tests of the executor. The builders that were here are in tests/kit (builders, programs, poll);
the names stay importable from here for branches in flight. New code imports tests.kit."""
from tests.kit.builders import (KEY, KICKOFF, T0, at, config, config_doc, decision,  # noqa: F401
                                decisions_doc, ledger_events, match, odds_doc, of_type)
from tests.kit.poll import poll  # noqa: F401
from tests.kit.programs import (BETPIPE, health, log_lines, start_program,  # noqa: F401
                                stop_program)
