"""Data streams (Kinesis Data Streams compatible): sharded, replayable, durable record logs."""
