"""The Celery application; periodic tasks are declared here, in one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The sweeper: SBOM ingests, packet renders and control evaluations stuck past their
    # task's time limit are queued again (evidence.sweeper).
    "requeue-stuck-work": {
        "task": "evidence.work.requeue_stuck",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
}
