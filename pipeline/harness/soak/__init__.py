"""The soak (scripts/soak, issue 8): the whole pipeline under supervisord on the replay source
and the step clock for N simulated days, sampling every program's memory, file descriptors and
threads; see `pipeline.harness.soak.run`. The samples come through psutil (the fds' targets
from /proc where there is one)."""
