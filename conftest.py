"""Repository-wide pytest set-up for the chapters that run under nbval."""


def pytest_collection_modifyitems(items):
    # nbval waits only 5 s for a cell's remaining output messages once the cell has finished; on a
    # loaded two-core CI machine a chapter's progress bar can take longer to drain. Allow a minute.
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.output_timeout = 60
