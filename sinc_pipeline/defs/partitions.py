"""One partition per store: the partition key is the store id."""
from dagster import StaticPartitionsDefinition

from sinc_pipeline.settings import Settings


def stores_partitions(settings: Settings) -> StaticPartitionsDefinition:
    return StaticPartitionsDefinition([s.id for s in settings.stores])
