"""The shape of examples/tabular-training in KFP v2, for `bench/cli-start.bench.ts` only (the CLI
start comparison: `kfp dsl compile` of this file against `sluice compile` of the example).

Same tasks and wiring: validate, split, a parallel sweep of four configs (train, evaluate), fan-in of
models and metrics to pick-best, read the promoted model (no cache), then promote only when the best
beats min_accuracy and the promoted one, otherwise record why not. Component bodies are stubs:
only compiling is measured.
"""
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

IMAGE = "python:3.12-slim"


@dsl.component(base_image=IMAGE)
def validate_data(source: str, data: Output[Dataset]) -> int:
    rows = open(source).read().splitlines()
    open(data.path, "w").write("\n".join(rows))
    return len(rows)


@dsl.component(base_image=IMAGE)
def split_data(data: Input[Dataset], test_fraction: float, seed: int, train: Output[Dataset], test: Output[Dataset]):
    rows = open(data.path).read().splitlines()
    cut = int(len(rows) * (1 - test_fraction))
    open(train.path, "w").write("\n".join(rows[:cut]))
    open(test.path, "w").write("\n".join(rows[cut:]))


@dsl.component(base_image=IMAGE)
def train_model(train: Input[Dataset], config: dict, model: Output[Model]):
    import json
    json.dump({"config": config}, open(model.path, "w"))


@dsl.component(base_image=IMAGE)
def evaluate_model(model: Input[Model], test: Input[Dataset], metrics: Output[Metrics]) -> NamedTuple("Outputs", accuracy=float, summary=dict):
    metrics.log_metric("accuracy", 0.9)
    return (0.9, {"accuracy": 0.9})


@dsl.component(base_image=IMAGE)
def pick_best(models: Input[List[Model]], metrics: Input[List[Metrics]], model: Output[Model], best_metrics: Output[Metrics]) -> NamedTuple("Outputs", name=str, accuracy=float):
    import shutil
    shutil.copy(models[0].path, model.path)
    return ("best", 0.9)


@dsl.component(base_image=IMAGE)
def read_promoted(registry: str) -> NamedTuple("Outputs", accuracy=float, name=str):
    return (-1.0, "")


@dsl.component(base_image=IMAGE)
def promote_model(model: Input[Model], name: str, accuracy: float, registry: str) -> str:
    return f"promoted {name}"


@dsl.component(base_image=IMAGE)
def record_rejection(name: str, accuracy: float, min_accuracy: float, current: float, registry: str) -> str:
    return "kept the promoted model"


SWEEP = [
    {"kind": "random-forest", "nEstimators": 10, "maxDepth": 2, "seed": 7},
    {"kind": "random-forest", "nEstimators": 40, "maxDepth": 5, "seed": 7},
    {"kind": "logistic-regression", "learningRate": 0.005, "steps": 300},
    {"kind": "logistic-regression", "learningRate": 0.05, "steps": 1500},
]


@dsl.pipeline(name="tabular-training", description="Iris: validate, split, sweep, promote the best.")
def tabular_training(source: str = "data/iris.csv", test_fraction: float = 0.3, seed: int = 1, min_accuracy: float = 0.9, registry: str = ".sluice/registry/iris"):
    data = validate_data(source=source)
    parts = split_data(data=data.outputs["data"], test_fraction=test_fraction, seed=seed)
    with dsl.ParallelFor(items=SWEEP, parallelism=2) as config:
        fit = train_model(train=parts.outputs["train"], config=config)
        score = evaluate_model(model=fit.outputs["model"], test=parts.outputs["test"])
    best = pick_best(models=dsl.Collected(fit.outputs["model"]), metrics=dsl.Collected(score.outputs["metrics"]))
    current = read_promoted(registry=registry).set_caching_options(False)
    with dsl.If(best.outputs["accuracy"] >= min_accuracy):
        with dsl.If(best.outputs["accuracy"] > current.outputs["accuracy"]):
            promote_model(model=best.outputs["model"], name=best.outputs["name"], accuracy=best.outputs["accuracy"], registry=registry).set_caching_options(False)
        with dsl.Else():
            record_rejection(name=best.outputs["name"], accuracy=best.outputs["accuracy"], min_accuracy=min_accuracy, current=current.outputs["accuracy"], registry=registry).set_caching_options(False)
    with dsl.Else():
        record_rejection(name=best.outputs["name"], accuracy=best.outputs["accuracy"], min_accuracy=min_accuracy, current=current.outputs["accuracy"], registry=registry).set_caching_options(False)
