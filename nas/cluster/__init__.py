"""What a search and a training campaign both need from a Ray cluster: starting or joining Ray
(`ray_session`, `ray_cluster`), cleaning up after a killed driver (`ray_watchdog`), one driver per result folder
(`driver_lock`), the resources a trial asks for (`resources`; `gpu_share` for `--gpus-per-trial auto`), and
running a list of trials as one Ray Tune run (`tune_trials`, with the trial's training in `trial_training`).

It sits below nas.search and nas.evaluation and knows neither: they hand it trial functions and settings."""
