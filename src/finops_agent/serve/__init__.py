"""The reports portal served beside the Prefect UI (pages, report files and the chat endpoint)."""
