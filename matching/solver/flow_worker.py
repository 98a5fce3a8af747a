"""`python -m matching.solver.flow_worker`: min-cost flows solved in a process of their own
(see matching.solver.flow.FlowWorker). Reads pickled networks on stdin, writes each answer on
stdout, exits at EOF.

OR-Tools' `SimpleMinCostFlow` holds the GIL for the whole solve (a million applicants: about
a minute), so solved in the service's process it would stop every other thread and its event
loop: lease renewals, acknowledgements' progress beats, health answers. Part of the solver
subpackage; imports numpy, ortools and matching.solver.flow only.
"""

import pickle
import signal
import sys

from matching.solver.flow import loaded_network, options_with_flow


def main() -> None:
    # The calling process decides when to stop: a signal to the whole process group must not
    # end a solve it waits for; this worker exits when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            held = [pickle.load(stdin)]
        except EOFError:
            return
        smcf, first, count = loaded_network(held)  # the arrays go before the solve
        try:
            pickle.dump(options_with_flow(smcf, first, count), stdout, protocol=5)
            stdout.flush()
        except BrokenPipeError:  # the caller is gone (killed mid-solve): nobody to answer
            return
        del smcf  # not held while waiting for the next network


if __name__ == "__main__":
    main()
