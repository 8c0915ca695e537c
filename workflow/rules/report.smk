from procrustean.paths import history_path, metrics_path
from procrustean.config import study_runs


def report_inputs(wildcards):
    runs = study_runs(config, wildcards.study)
    return [metrics_path(wildcards.study, r) for r in runs] + [
        history_path(wildcards.study, r) for r in runs
    ]


rule report:
    input:
        report_inputs,
    output:
        [
            f.replace("STUDY", "{study}")
            for f in report_outputs("STUDY") + [report_outputs("STUDY")[0] + ".prov.json"]
        ],
    params:
        study=lambda w: config["studies"][w.study],
    log:
        "logs/{study}/report.log",
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "procrustean report --study {wildcards.study} > {log} 2>&1"
