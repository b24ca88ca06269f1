"""Alerts: a message to a Slack incoming webhook when a pipeline task fails for good.

Every pipeline DAG, its maintenance DAGs and the hand-written DAGs set :class:`FailureAlert` as
their tasks' ``on_failure_callback`` (:func:`failure_alerts`). Airflow calls it when a task ends
``failed``: its retries are spent, or it stopped without a retry because retrying could only make
things worse (an open circuit breaker, the daily API limit, a budget stop, a validation policy of
``fail``). An attempt that will be retried does not alert. The webhook's URL lives in an Airflow
``slackwebhook`` connection (the official Slack provider's hook sends the message), never in YAML.

The message names the DAG, task, run and try, and the error, clipped. Our own errors hold no row
values; a driver's error may name a key (Postgres' "Key (id)=(...) already exists"). A pipeline
whose alert connection is not defined still runs; the missing channel is logged as a warning on
each failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.notifier import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_ERROR_CHARS = 500
# The alert connection of every pipeline unless its spec (or a folder default) names another or none.
DEFAULT_ALERTS_CONN_ID = "lumina_alerts"


def failure_alerts(slack_webhook_conn_id: str | None = DEFAULT_ALERTS_CONN_ID) -> list[FailureAlert]:
    """The ``on_failure_callback`` list for a DAG's ``default_args``: one alert, or none for ``None``."""
    return [FailureAlert(slack_webhook_conn_id=slack_webhook_conn_id)] if slack_webhook_conn_id else []


class FailureAlert(BaseNotifier):
    """Posts a task's failure to the Slack incoming webhook of ``slack_webhook_conn_id``."""

    def __init__(self, *, slack_webhook_conn_id: str) -> None:
        super().__init__()
        self.slack_webhook_conn_id = slack_webhook_conn_id

    def notify(self, context: Context) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        hook = SlackWebhookHook(slack_webhook_conn_id=self.slack_webhook_conn_id)
        try:
            hook.send(text=failure_message(context))
        except AirflowNotFoundException:
            self.log.warning(
                "No alert sent: Airflow connection %r (Slack incoming webhook) is not defined",
                self.slack_webhook_conn_id,
            )


def failure_message(context: Context | dict[str, Any]) -> str:
    """``Lumina: <dag>.<task> failed (run <run id>, try <n>)`` and the error, clipped."""
    ti = context["ti"]
    error = context.get("exception")
    lines = [f"Lumina: {ti.dag_id}.{ti.task_id} failed (run {ti.run_id}, try {ti.try_number})."]
    if error is not None:
        text = f"{type(error).__name__}: {error}"
        text = text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."
        # Slack reads <...> as links and mentions: its three control characters are escaped.
        lines.append(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    log_url = getattr(ti, "log_url", None)
    if log_url:
        lines.append(f"Log: {log_url}")
    return "\n".join(lines)
