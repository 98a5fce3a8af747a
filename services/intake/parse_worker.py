"""`python -m services.intake.parse_worker`: the intake's parsing worker process (see
services.intake.parsing.BatchParser). Reads pickled batches on stdin, writes parsed lists on stdout,
exits at EOF. Imports contracts and services.intake.parsing only.
"""

import gc
import signal
import sys

from services.intake.parsing import serve_parsing


def main() -> None:
    # The service process decides when to stop: Ctrl+C or systemd signal the whole process
    # group, and this worker must finish the batch it holds; it exits when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    serve_parsing(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
