"""The Celery app of the workers that run a tick's steps (``tick.executor: celery``).

Start a worker, on any machine with the same code, the same config file and the shared
instance (README, *Production*):

    SINC_CONFIG=/srv/sinc/sinc.yaml DAGSTER_HOME=/srv/sinc/dagster \\
        celery -A sinc_pipeline.defs.celery_app worker -Q dagster -n loja-worker-1@%h -c 2

Broker, result backend and extra Celery settings come from ``tick.celery`` of ``$SINC_CONFIG``,
the same values the job's executor sends with (``defs/executors.py``), so the two can't drift
apart. A task loads the job from ``sinc_pipeline.definitions`` (that same ``$SINC_CONFIG``) and
the instance from the run's instance reference. This is ``dagster_celery.app`` with the config
from the file instead of ``dagster-celery worker start -y``.
"""
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from sinc_pipeline.defs.executors import celery_app_args
from sinc_pipeline.settings import load_settings

app = make_app(CeleryExecutor.for_cli(**celery_app_args(load_settings())).app_args())

execute_plan = create_task(app)
