"""Speech engines behind one small interface (`ttsd.engines.base.Engine`)."""
