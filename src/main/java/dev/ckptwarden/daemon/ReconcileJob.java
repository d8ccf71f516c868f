package dev.ckptwarden.daemon;

import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.quartz.SchedulerException;

/**
 * The Quartz job behind every reconcile trigger (periodic, watch event, settle timer). Concurrent
 * execution is disallowed: passes never overlap; triggers that fire meanwhile wait their turn.
 */
@DisallowConcurrentExecution
public final class ReconcileJob implements Job {
    static final String AGENT_KEY = "agent";

    @Override
    public void execute(JobExecutionContext context) {
        Agent agent;
        try {
            agent = (Agent) context.getScheduler().getContext().get(AGENT_KEY);
        } catch (SchedulerException e) {
            return;
        }
        agent.onTrigger(context.getTrigger().getKey().getName());
    }
}
