// Type-checked (tsc --strict), not run: postpolicy/fastify and postpolicy/web as an application uses them.
import Fastify from 'fastify'
import { Credentials, OssSigner, Policy } from 'postpolicy'
import uploadPlugin from 'postpolicy/fastify'
import { callbackHandler, uploadTokenHandler } from 'postpolicy/web'

const signer = new OssSigner({ credentials: new Credentials('id', 'secret'), region: 'cn-hangzhou', bucket: 'examplebucket' })

const app = Fastify()
app.register(uploadPlugin, {
  prefix: '/uploads',
  signer,
  policy: (request) => Policy.parse('key starts-with "user/{id}/"', { id: String(request.headers['x-user']) }),
  onCallback: ({ params, publicKeyUrl }) => ({ Status: 'OK', key: params?.object, publicKeyUrl }),
  limit: 64 * 1024,
})

export const GET: (request: Request) => Promise<Response> = uploadTokenHandler({
  signer,
  policy: (request) =>
    Policy.builder()
      .keyPrefix(`user/${new URL(request.url).searchParams.get('u')}/`)
      .build(),
})
export const POST = callbackHandler({ onCallback: async ({ body }): Promise<Response> => new Response(String(body.length)) })
