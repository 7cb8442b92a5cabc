// Who is on stage, audio-first: an avatar (or initials) per member with a role badge and a ring
// around whoever speaks now (the SFU's active speaker, see MediaStage's onSpeaker).
import { Avatar } from '../components/ui';
import { STAGE_ROLE_LABEL, asRole, backstageMembers, onAirMembers } from '../lib/stageState';
import type { StageMember, StageView } from '../lib/types';

export function StageRoleBadge({ role }: { role: string }) {
  const r = asRole(role);
  return <span className={`badge badge-role badge-stage-${r}`}>{STAGE_ROLE_LABEL[r]}</span>;
}

export function StagePeople({ view, me, speaking }: { view: StageView | null; me: string; speaking: string | null }) {
  // The audience's view never lists the backstage; those who see it get it apart.
  const members = onAirMembers(view);
  const backstage = backstageMembers(view);
  if (members.length === 0 && backstage.length === 0) return null;
  const item = (m: StageMember, inBackstage: boolean) => {
    const isSpeaking = speaking === m.user_id;
    return (
      <li
        key={m.user_id}
        className={isSpeaking ? 'speaking' : undefined}
        data-testid="stage-member"
        data-user-id={m.user_id}
        data-role={m.role}
        data-backstage={inBackstage ? 'true' : undefined}
      >
        <span className="stage-avatar-ring">
          <Avatar name={m.display_name} url={m.avatar_url} size={48} />
        </span>
        <span className="stage-avatar-name">
          {m.display_name}
          {m.user_id === me && <span className="muted"> (you)</span>}
        </span>
        <StageRoleBadge role={m.role} />
        {inBackstage && <span className="badge badge-backstage">Backstage</span>}
        {isSpeaking && <span className="visually-hidden">(speaking)</span>}
      </li>
    );
  };
  return (
    <>
      {members.length > 0 && (
        <ul className="stage-avatars" aria-label="On stage">
          {members.map((m) => item(m, false))}
        </ul>
      )}
      {backstage.length > 0 && (
        <>
          <p className="small muted">Backstage (not seen or heard by the audience):</p>
          <ul className="stage-avatars stage-avatars-backstage" aria-label="Backstage">
            {backstage.map((m) => item(m, true))}
          </ul>
        </>
      )}
    </>
  );
}
