"""Trains what is missing, evaluates it and regenerates ``docs/results.md`` from run directories.

One command per table (run from the repository root)::

    python benchmarks/reproduce.py --table=real_photos         # LSPET, ImageNet backbones
    python benchmarks/reproduce.py --table=lspet               # LSPET, tiny models, test PCK@0.2
    python benchmarks/reproduce.py --table=belagiannis_table1  # occlusion modes, T, limb maps
    python benchmarks/reproduce.py --table=belagiannis_lspet   # T, limb maps on LSPET, ImageNet
    python benchmarks/reproduce.py --table=bulat_table5        # detection/regression variants
    python benchmarks/reproduce.py --table=bulat_lspet         # the same on LSPET, ImageNet
    python benchmarks/reproduce.py --table=all

(``python -m benchmarks.reproduce ...`` is the same command.)

Every run lives in ``--runs_dir/<table>/<row>[/seed<N>]``. A run whose directory already holds
its evaluation (``eval/<split>/metrics.json``) is not touched again, so re-running the command
only regenerates the documents. Training is ``python -m tfpose.train`` in a subprocess (a
stopped run resumes from its last checkpoint); evaluation is what ``python -m tfpose.evaluate``
runs, in this process through the same library call
(:func:`tfpose.evaluation.evaluate_model`), so that TensorFlow is imported once. Per run,
``reproduce.json`` records the commands, the hardware, the seed and the training wall time
that the run itself measured (``metrics.json``). ``docs/results.md`` and the learning-curve
plot are written only from what the run directories hold: no number in them is typed by hand.

The ablation tables on LSPET (``belagiannis_lspet``, ``bulat_lspet``) train every row with each
of ``--seeds``; where a paper's claim then lies within the seed spread, its rows get one more
seed (``--third_seed``, on by default), and the documents read every seed found on disk.

Modules, one concern each:

- :mod:`.experiments`: the tables, their rows, evaluations, the papers' numbers and claims, as
  data (and :func:`~.experiments.table_specs`, the runs of a table).
- :mod:`.paths`: the repository root; paths and commands written relative to it.
- :mod:`.rundirs`: what a run directory holds (finished? evaluated? its numbers).
- :mod:`.verdicts`: seed statistics and the verdicts on the papers' claims.
- :mod:`.runner`: trains, resumes and evaluates the runs of a table, skipping finished ones.
- :mod:`.templates`: the prose of ``docs/results.md``.
- :mod:`.markdown`: the tables every section shares (runs, seeds, claims, per-joint rows).
- :mod:`.sections`: one writer per table's section (and the LSPET ablations' budget, third
  seeds and "What it means").
- :mod:`.report`: writes ``docs/results.md`` and the learning curves from the run directories.
- :mod:`.cli`: the command line (``benchmarks/reproduce.py`` only hands it the arguments).
"""
