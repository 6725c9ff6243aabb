// The client of the payment provider (a card processor) the service charges through.

export interface Charge {
  id: string;
  status: 'succeeded' | 'failed';
}

export const PROVIDER_URL = process.env.PROVIDER_URL ?? 'http://127.0.0.1:9100';

export async function createCharge(baseUrl: string, amountCents: number, currency: string, reference: string): Promise<Charge> {
  const res = await fetch(`${baseUrl}/charges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount_cents: amountCents, currency, reference }),
  });
  if (!res.ok) throw new Error(`provider answered ${res.status}`);
  return (await res.json()) as Charge;
}
