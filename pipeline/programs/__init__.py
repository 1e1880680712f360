"""One folder per supervisord program, each with program.py:main (DESIGN: Layout).

PROGRAMS is the registry: program name -> "module:function" that `betpipe <name>` runs (what
supervisord.conf starts). The CLI and `betpipe status` read it; programs meet only in files, so
a program reads only the names from here, never another program's module.
"""
PROGRAMS = {
    "bookmaker": "pipeline.programs.bookmaker.program:main",
    "monitor": "pipeline.programs.monitor.program:main",
    "decide": "pipeline.programs.decide.program:main",
    "execute": "pipeline.programs.execute.program:main",
    "track": "pipeline.programs.track.program:main",
    "dashboard": "pipeline.programs.dashboard.program:main",
    "notify": "pipeline.programs.notify.program:main",
    "model": "pipeline.programs.model.program:main",
}
