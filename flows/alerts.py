"""Alerts as code: a webhook notification block and the automation that uses it.

When a ``nightly`` or ``backfill`` flow run fails or crashes, the Prefect server's
automation sends one message through the webhook block: the run's name, its final message
(the day and the failed sources or units: see ``flows.nightly``) and a link to it.
``alvh alerts install --url URL`` creates or replaces both on the configured server.
"""

from __future__ import annotations

from typing import Any

BLOCK_NAME = "alvh-alerts"
AUTOMATION_NAME = "alvh: nightly or backfill failed"
WATCHED_FLOWS = ("nightly", "backfill")
FAILED_EVENTS = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed")

SUBJECT = "alvh: {{ flow.name }} run {{ flow_run.name }} {{ flow_run.state.name }}"
BODY = ("Flow run {{ flow_run.name }} of {{ flow.name }} ended {{ flow_run.state.name }}: "
        "{{ flow_run.state.message }}\n"
        "Parameters: {{ flow_run.parameters }}\n"
        "Run id: {{ flow_run.id }}")


def webhook_block(url: str) -> Any:
    """A Custom Webhook notification block posting ``{text, subject, body}`` as JSON."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    return CustomWebhookNotificationBlock(
        name=BLOCK_NAME, url=url, method="POST", headers=None, cookies=None,
        json_data={"text": "{{subject}}\n{{body}}", "subject": "{{subject}}",
                   "body": "{{body}}"})


def failure_automation(block_document_id: Any) -> Any:
    """The automation: a failed or crashed nightly/backfill run sends one notification."""
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification

    return Automation(
        name=AUTOMATION_NAME,
        description="Notify when a nightly or backfill flow run fails or crashes",
        trigger=EventTrigger(
            expect=set(FAILED_EVENTS),
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow",
                           "prefect.resource.name": list(WATCHED_FLOWS)},
            posture=Posture.Reactive, threshold=1),
        actions=[SendNotification(block_document_id=block_document_id, subject=SUBJECT,
                                  body=BODY)])


def install(url: str) -> tuple[Any, Any]:
    """Create (or replace) the block and the automation on the server; returns their ids."""
    from prefect.client.orchestration import get_client

    block_id = webhook_block(url).save(BLOCK_NAME, overwrite=True)
    with get_client(sync_client=True) as client:
        for old in client.read_automations_by_name(AUTOMATION_NAME):
            client.delete_automation(old.id)
    automation = failure_automation(block_id).create()
    return block_id, automation.id
