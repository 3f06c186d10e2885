"""``manage.py private_finetune``: upload a labelled dataset (or pick one) and run a DP-SGD fine-tuning job.

The job goes to the workers (queue "gpu") like one submitted from the console or the API; ``--wait`` follows
its progress, ``--in-process`` runs it here instead (no worker needed). The budget ledger applies the same
way: a job that would exceed the dataset's remaining ε is refused before it starts (exit status 2).
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from forensics.ingest.errors import IngestError
from forensics.ingest.storage import read_chunks
from privacy import dataset_store, jobs
from privacy.datasets import DatasetError
from privacy.models import PrivateDataset, PrivateFinetuneJob
from privacy.presenters import dataset_to_dict, job_to_dict
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import Actor, system_actor
from webapp.celery import app

State = PrivateFinetuneJob.State


class Command(BaseCommand):
    help = "Run a differentially private fine-tuning job on a tenant's labelled dataset (zip of real/ and fake/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=os.environ.get("FORENSICS_CLI_TENANT", "demo"))
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--dataset", help="id of a dataset already uploaded")
        source.add_argument("--zip", type=Path, help="upload this zip of real/ and fake/ folders as a new dataset")
        parser.add_argument("--name", help="name of the new dataset (with --zip; default: the file name)")
        parser.add_argument("--budget", type=float, help="total ε of the new dataset (with --zip)")
        parser.add_argument("--epsilon", type=float, required=True, help="target ε of this job")
        parser.add_argument("--delta", type=float, help="δ (default: the dataset's)")
        parser.add_argument("--epochs", type=int, default=3)
        parser.add_argument("--batch-size", type=int, default=32, help="expected batch size (Poisson sampling)")
        parser.add_argument("--max-grad-norm", type=float, default=1.0)
        parser.add_argument("--lr", type=float, default=0.05, help="learning rate (SGD with momentum)")
        parser.add_argument("--base-detector", default="synthetic-image")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--drop-exhausted", action="store_true",
                            help="leave out the images whose privacy budget this job would pass, train on the rest")
        parser.add_argument("--wait", action="store_true", help="follow the job's progress until it ends")
        parser.add_argument("--in-process", action="store_true", help="run the job here instead of on a worker")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait with --wait")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["verbosity"] < 2:
            logging.getLogger().setLevel(logging.WARNING)
        tenant, _ = Tenant.objects.get_or_create(slug=o["tenant"], defaults={"name": o["tenant"]})
        actor = system_actor(tenant, "system:cli")
        dataset = self._dataset(actor, o)
        self.stdout.write(json.dumps({"dataset": dataset_to_dict(dataset)}))
        params = {"base_detector": o["base_detector"], "target_epsilon": o["epsilon"], "delta": o["delta"],
                  "epochs": o["epochs"], "batch_size": o["batch_size"], "max_grad_norm": o["max_grad_norm"],
                  "learning_rate": o["lr"], "seed": o["seed"]}
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = eager or o["in_process"]  # in-process: runs when its submission commits
        try:
            job = jobs.submit_job(actor, dataset, drop_exhausted=o["drop_exhausted"], **params)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            app.conf.task_always_eager = eager
        if job.state == State.REFUSED:
            self.stderr.write(f"refused: {job.error}")
            sys.exit(2)
        self.stdout.write(json.dumps({"job": str(job.id), "state": job.state}))
        if o["wait"] or o["in_process"]:
            job = self._follow(job, o["timeout"])
            self.stdout.write(json.dumps(job_to_dict(job), indent=2))
            if job.state != State.DONE:
                self.stderr.write(f"error: job {job.id} is {job.state}: {job.error or 'is a worker running?'}")
                sys.exit(1)

    def _dataset(self, actor: Actor, o: dict[str, Any]) -> PrivateDataset:
        if o["dataset"]:
            try:
                return PrivateDataset.objects.get(pk=o["dataset"], tenant=actor.tenant)
            except (PrivateDataset.DoesNotExist, ValidationError) as exc:  # ValidationError: not a uuid
                raise CommandError(f"no dataset {o['dataset']} in tenant {actor.tenant.slug}") from exc
        path: Path = o["zip"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            return dataset_store.create_dataset(actor, read_chunks(path), o["name"] or path.stem,
                                                epsilon_total=o["budget"], delta=o["delta"])
        except (DatasetError, IngestError, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _follow(self, job: PrivateFinetuneJob, timeout: float) -> PrivateFinetuneJob:
        deadline, last = time.monotonic() + timeout, None
        while True:
            job.refresh_from_db()
            p = job.progress
            line = (f"{job.state} {p.get('phase', '')} epoch {p.get('epoch', 0)}/{p.get('epochs', '?')} "
                    f"loss {p.get('loss', '-')} acc {p.get('accuracy', '-')} ε {p.get('epsilon', 0)}")
            if line != last:
                self.stderr.write(line)
                last = line
            if job.state in (State.DONE, State.FAILED, State.REFUSED) or time.monotonic() > deadline:
                return job
            time.sleep(1.0)
