"""The ledger (台账) and the Excel downloads of the pages that list a batch."""
