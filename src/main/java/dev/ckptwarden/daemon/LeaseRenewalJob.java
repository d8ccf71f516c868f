package dev.ckptwarden.daemon;

import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.SchedulerException;

/** The Quartz job that renews cluster mode's enforcement lease, beside (never behind) reconcile passes. */
@DisallowConcurrentExecution
public final class LeaseRenewalJob implements Job {

    @Override
    public void execute(JobExecutionContext context) {
        Agent agent;
        try {
            agent = (Agent) context.getScheduler().getContext().get(ReconcileJob.AGENT_KEY);
        } catch (SchedulerException e) {
            return;
        }
        agent.renewLease();
    }
}
