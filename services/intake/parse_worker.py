"""`python -m services.intake.parse_worker`: the intake's parsing worker process (see
services.intake.parsing.BatchParser). Reads pickled batches on stdin, writes parsed lists on stdout,
exits at EOF. Imports contracts, services.intake.parsing and services.collector only.
"""

import signal
import sys

from services.collector import tune_gc
from services.intake.parsing import serve_parsing


def main() -> None:
    # The service process decides when to stop: Ctrl+C or systemd signal the whole process
    # group, and this worker must finish the batch it holds; it exits when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tune_gc()
    serve_parsing(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
