from tests.support.privacy_fixtures import clean_ledger, dataset_zip  # noqa: F401 - fixtures

# The service side (datasets, ledger, jobs, serving) needs Django; the engine's tests here run without it too.
DJANGO_TESTS = {"test_ledger.py", "test_jobs.py", "test_serving.py", "test_reports.py", "test_units.py",
                "test_lineage.py"}


def pytest_ignore_collect(collection_path, config):  # type: ignore[no-untyped-def]
    if collection_path.name in DJANGO_TESTS and not config.pluginmanager.hasplugin("django"):
        return True
    return None
