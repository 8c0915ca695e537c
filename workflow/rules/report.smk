rule report:
    input:
        out_of_date("report"),
        report_inputs,
    output:
        report_files(),
    log:
        "logs/{study}/report.log",
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "procrustean report --study {wildcards.study} > {log} 2>&1"


rule verdicts:
    input:
        design_inputs("verdicts"),
    output:
        [*VERDICTS, VERDICTS[0] + PROV],
    log:
        "logs/confirmation/verdicts.log",
    localrule: True
    shell:
        "procrustean verdicts > {log} 2>&1"


rule paper_counts:
    input:
        design_inputs("paper-counts"),
    output:
        [*PAPER_COUNTS_OUTPUTS, PAPER_COUNTS_OUTPUTS[0] + PROV],
    log:
        "logs/paper_counts/paper_counts.log",
    localrule: True
    shell:
        "procrustean paper-counts > {log} 2>&1"
