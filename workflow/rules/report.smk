rule report:
    input:
        report_inputs,
    output:
        report_files(),
    log:
        "logs/{study}/report.log",
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        study=lambda w: config["studies"][w.study],
    shell:
        "procrustean report --study {wildcards.study} > {log} 2>&1"
