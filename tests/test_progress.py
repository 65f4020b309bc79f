from spark_jobs.progress import report_progress


def test_progress_reports_running_stage(spark):
    messages = []
    import time

    def slow(rows):
        for row in rows:
            time.sleep(0.3)
            yield row

    with report_progress(spark, messages.append, "probe", every_s=0.2):
        spark.sparkContext.parallelize(range(8), 4).mapPartitions(slow).count()
    assert messages, "no progress was reported during a 1 s stage"
    assert any("tasks" in m and m.startswith("probe") for m in messages)
