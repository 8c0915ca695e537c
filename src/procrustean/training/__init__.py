"""The parts of one training run, each with its own reason to change: what it feeds on
(``feed``), one optimisation step and the epoch's meters (``step``), and its checkpoints
(``checkpoint``). ``procrustean.train`` puts them together."""
