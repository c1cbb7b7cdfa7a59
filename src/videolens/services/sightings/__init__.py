"""Face sightings: every face track seen by a stream processor or a stored-video face job, searchable."""
